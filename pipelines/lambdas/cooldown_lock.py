"""A cool-down lease in one DynamoDB item: at most one holder per cool-down, whoever asks at once.

The retrain gate runs without reserved concurrency (AWS refuses a reservation
that leaves fewer than 100 unreserved executions, the whole quota of a new
account: https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
so two deliveries of one alarm may run at the same instant. Each tries one
conditional ``UpdateItem`` on the item keyed by the pipeline's name; DynamoDB
evaluates the condition and applies the write as one atomic step per item, so
exactly one of them wins ("Condition expressions",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html;
a loser gets ``ConditionalCheckFailedException``).

The lease slides: it is free when no item exists or the last one was taken a
whole cool-down ago, so two starts are always at least a cool-down apart (a
lease keyed by fixed clock windows would let two starts straddle a window's
edge minutes apart). The item keeps the holder (the alarm event's id, also the
start's ``ClientRequestToken``), when it was taken, and the execution it
started; ``expires_at`` lets DynamoDB's TTL delete it once it no longer matters.
``waiting`` is the set of alarms refused while the lease held (a string set,
``ADD`` is atomic), which the retrain gate's sweep serves once the cool-down
ends; taking the lease clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

KEY = "lock"
NAMES = {
    "#key": KEY,
    "#holder": "holder",
    "#at": "acquired_at",
    "#arn": "execution_arn",
    "#alarm": "alarm",
    "#expires": "expires_at",
    "#waiting": "waiting",
}
TTL_ATTRIBUTE = NAMES["#expires"]
TTL_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class Lease:
    """The item as it stands: who holds the cool-down, since when, and what it started."""

    key: str
    holder: str
    acquired_at: datetime
    execution_arn: str | None
    alarm: str
    waiting: frozenset[str] = frozenset()


def _seconds(when: datetime) -> str:
    return str(int(when.timestamp()))


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class CooldownLock:
    """Acquire, inspect, record and release the cool-down lease of one key in ``table``."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def _update(self, key: str, names: list[str], **request: Any) -> bool:
        """One conditional ``UpdateItem``; False when its condition did not hold."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={KEY: {"S": key}},
                ExpressionAttributeNames={name: NAMES[name] for name in names},
                **request,
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def acquire(
        self, key: str, holder: str, now: datetime, cooldown: timedelta, alarm: str = ""
    ) -> bool:
        """Take the lease if nobody took it within ``cooldown`` before ``now``."""
        return self._update(
            key,
            ["#key", "#holder", "#at", "#arn", "#alarm", "#expires", "#waiting"],
            UpdateExpression=(
                "SET #holder = :holder, #at = :now, #alarm = :alarm, #expires = :expires "
                "REMOVE #arn, #waiting"
            ),
            ConditionExpression="attribute_not_exists(#key) OR #at <= :since",
            ExpressionAttributeValues={
                ":holder": {"S": holder},
                ":now": {"N": _seconds(now)},
                ":since": {"N": _seconds(now - cooldown)},
                ":alarm": {"S": alarm},
                ":expires": {"N": _seconds(now + cooldown + TTL_MARGIN)},
            },
        )

    def take_over(self, lease: Lease, now: datetime) -> bool:
        """Renew a lease whose holder died before starting anything; only one caller renews it.

        The holder is kept, so the start reuses its ``ClientRequestToken`` and
        finds the execution the dead holder may have started after all.
        """
        return self._update(
            lease.key,
            ["#at", "#arn"],
            UpdateExpression="SET #at = :now",
            ConditionExpression="#at = :seen AND attribute_not_exists(#arn)",
            ExpressionAttributeValues={
                ":now": {"N": _seconds(now)},
                ":seen": {"N": _seconds(lease.acquired_at)},
            },
        )

    def record(self, key: str, holder: str, execution_arn: str) -> bool:
        """Write the started execution into the lease, if ``holder`` still holds it."""
        return self._update(
            key,
            ["#holder", "#arn"],
            UpdateExpression="SET #arn = :arn",
            ConditionExpression="#holder = :holder",
            ExpressionAttributeValues={":arn": {"S": execution_arn}, ":holder": {"S": holder}},
        )

    def defer(self, key: str, alarm: str) -> bool:
        """Note an alarm refused while the lease holds, for the sweep after the cool-down."""
        return self._update(
            key,
            ["#key", "#waiting"],
            UpdateExpression="ADD #waiting :alarm",
            ConditionExpression="attribute_exists(#key)",
            ExpressionAttributeValues={":alarm": {"SS": [alarm]}},
        )

    def forget_waiting(self, lease: Lease) -> bool:
        """Clear the waiting alarms of ``lease`` (they left ALARM), unless it was taken since."""
        return self._update(
            lease.key,
            ["#at", "#waiting"],
            UpdateExpression="REMOVE #waiting",
            ConditionExpression="#at = :seen",
            ExpressionAttributeValues={":seen": {"N": _seconds(lease.acquired_at)}},
        )

    def release(self, key: str, holder: str) -> bool:
        """Give the lease back when the start failed, so the next delivery may try again."""
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key={KEY: {"S": key}},
                ConditionExpression="#holder = :holder AND attribute_not_exists(#arn)",
                ExpressionAttributeNames={"#holder": NAMES["#holder"], "#arn": NAMES["#arn"]},
                ExpressionAttributeValues={":holder": {"S": holder}},
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def current(self, key: str) -> Lease | None:
        """The lease as stored now (a strongly consistent read), or None."""
        item = self._dynamodb.get_item(
            TableName=self._table, Key={KEY: {"S": key}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return Lease(
            key=key,
            holder=item["holder"]["S"],
            acquired_at=datetime.fromtimestamp(int(item["acquired_at"]["N"]), UTC),
            execution_arn=item["execution_arn"]["S"] if "execution_arn" in item else None,
            alarm=item.get("alarm", {}).get("S", ""),
            waiting=frozenset(item.get("waiting", {}).get("SS", [])),
        )

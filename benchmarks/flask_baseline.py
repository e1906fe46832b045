"""The baseline server: what SageMaker's scikit-learn container runs, with the same model.

SageMaker's scikit-learn container serves a Flask (WSGI) app from gunicorn
workers (https://github.com/aws/sagemaker-containers/blob/master/src/sagemaker_containers/_server.py)
and a handler that reads the body into a frame and calls the model. Here: Flask
on gunicorn's threaded worker (keep-alive, as the load client expects), a
``pd.read_csv`` / ``pd.DataFrame`` + ``predict_proba`` handler, and the same
``score,is_fraud`` / ``{"predictions": [...]}`` answers. The model directory is
read from ``MLOPS_BENCH_MODEL``.

Run: ``gunicorn -w N -k gthread --threads 1 --chdir benchmarks flask_baseline:app``.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pandas as pd
from flask import Flask, Response, request

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.model_artifact import load_model
from ml.schema import FEATURE_COLUMNS

MODEL, METADATA = load_model(Path(os.environ["MLOPS_BENCH_MODEL"]))
THRESHOLD = float(METADATA["decision_threshold"])
app = Flask(__name__)


@app.get("/ping")
def ping() -> Response:
    return Response(status=200)


@app.post("/invocations")
def invocations() -> Response:
    body = request.get_data()
    if request.content_type == "application/json":
        frame = pd.DataFrame(json.loads(body)["instances"], columns=list(FEATURE_COLUMNS))
    else:
        frame = pd.read_csv(io.BytesIO(body), header=None, names=list(FEATURE_COLUMNS))
    scores = MODEL.predict_proba(frame)[:, 1]
    if request.accept_mimetypes.best == "application/json":
        answer = {
            "predictions": [
                {"score": round(float(s), 6), "is_fraud": bool(s >= THRESHOLD)} for s in scores
            ]
        }
        return Response(json.dumps(answer), mimetype="application/json")
    lines = "".join(f"{s:.6f},{int(s >= THRESHOLD)}\n" for s in scores)
    return Response(lines, mimetype="text/csv")

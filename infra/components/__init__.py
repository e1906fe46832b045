"""One Pulumi ComponentResource per concern; ``infra/platform.py`` wires them."""

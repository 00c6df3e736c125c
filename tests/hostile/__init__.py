"""The hostile-world suite: seclog end to end against attackers and a bad day.

Real servers (gunicorn, uvicorn) on free 127.0.0.1 ports export to a real OTLP
receiver. ``HOSTILE_LONG=1`` runs the long fuzz and soak variants (marked slow).
"""

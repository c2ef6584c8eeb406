"""Model runtimes: a frozen graph on TensorFlow, a classifier's LiteRT copy, MiniRocket on compiled loops,
loading and warming them up.

Used alike by the server, training's export checks, ``sigop evaluate`` and
``sigop export-lite``; nothing here knows of gRPC or of training.
"""

# What runs classifiers: auto (MiniRocket compiled, others on LiteRT when a copy is usable), TensorFlow,
# LiteRT only, compiled only (MiniRocket).
RUNTIMES = ("auto", "tf", "lite", "compiled")

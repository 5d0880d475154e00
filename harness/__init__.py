"""harness: a benchmark harness for conditional GAN variants on EuroSAT RGB.

Data flows one way: data -> variant -> trainer -> evaluator -> results -> report.
Importing this package does not import TensorFlow; the modules that need it do.
"""

__version__ = "0.1.0"

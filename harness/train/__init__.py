"""Stage 3, training: the generic epoch loop (trainer), the compiled update step, objectives, augmentation,
the generator's moving average, checkpoints and devices.

The trainer writes into the run folder it is given (trainer.RunFolder) and evaluates with the evaluator it is
given, so it imports neither of the later stages.
"""

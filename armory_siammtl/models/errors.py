"""The error every weights problem raises."""


class WeightsError(ValueError):
    """A weights file that is missing, unreadable, tampered with or does not fit the model."""

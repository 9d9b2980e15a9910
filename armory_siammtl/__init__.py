"""armory-siammtl: multi-task SiamRPN person tracking under adversarial textures, for ARMORY."""

__version__ = "0.1.0"

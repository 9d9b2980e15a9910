"""The seed paper's physically realizable adversarial texture attack."""

from armory_siammtl.attacks.adversarial_texture import AdversarialTexture

__all__ = ["AdversarialTexture"]

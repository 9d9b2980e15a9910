"""The seed paper's physically realizable adversarial texture attack, and one attack run per video."""

from armory_siammtl.attacks.adversarial_texture import AdversarialTexture
from armory_siammtl.attacks.compositing import apply_texture
from armory_siammtl.attacks.runner import AttackRun, run_attack

__all__ = ["AdversarialTexture", "AttackRun", "apply_texture", "run_attack"]

"""Configuration schemas: strategy/phase profiles (and, later, alert rules)."""

from polyarb.config.profile import Profile, ProfileError, load_profile

__all__ = ["Profile", "ProfileError", "load_profile"]

"""Part of the OVHcloud AI Training provider."""

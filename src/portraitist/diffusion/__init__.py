"""Diffusion in the EDM frame (rectified flow expressed in it too): preconditioning, noise schedules, samplers, guidance."""

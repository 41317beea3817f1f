"""Diffusion in the EDM formulation: preconditioning, noise schedules, samplers, guidance."""

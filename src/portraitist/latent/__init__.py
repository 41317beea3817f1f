"""Latent space made tangible: edit directions, interpolation, and (for the diffusion model) prompt
arithmetic and noise interpolation."""

"""cargogym.rollouts"""

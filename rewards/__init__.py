"""cargogym.rewards"""

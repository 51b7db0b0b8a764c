"""cargogym.policies"""

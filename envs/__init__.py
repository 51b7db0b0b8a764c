"""cargogym.envs"""

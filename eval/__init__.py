"""cargogym.eval"""

"""cargogym.training"""

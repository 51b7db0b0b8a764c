"""cargogym.harmony"""

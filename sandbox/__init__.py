"""cargogym.sandbox"""

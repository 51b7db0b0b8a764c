"""cargogym.datagen"""

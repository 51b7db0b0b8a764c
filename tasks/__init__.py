"""cargogym.tasks"""

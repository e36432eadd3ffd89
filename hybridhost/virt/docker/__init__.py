"""The container side: a nova 34 virt driver that runs instances as Docker containers.

This package is the only place in hybridhost that imports nova (in ``driver.py`` and
the modules it uses). ``conf.py`` stays nova-free so the renderer can use it.
"""

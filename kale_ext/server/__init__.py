"""The web layer: the only package of kale_ext that imports tornado and jupyter_server."""

"""The playground: a local web page where a network trains live, with the doctor watching.

``sigmalab playground`` starts it (``server.serve``). Importing this package is light:
FastAPI and uvicorn load only in ``app`` and ``server``, which the command imports.
"""

"""The parts of upstream Orchestra's Python package that workflow code calls, for functions run
by orchestra-executor's Python runner (plugins/README.md "What the compatibility package
offers"): orchestra.models (Worker, Certification, WorkerCertification, as sample-data load
functions use them), orchestra.creation_policies.always_create, orchestra.orchestra_api (the
project client, over orchestra-http) and orchestra.core.errors. Written for Orchestra in C;
nothing here is upstream's code.
"""

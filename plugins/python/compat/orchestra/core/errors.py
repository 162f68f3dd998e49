"""Upstream's exception names that workflow code raises or catches."""


class OrchestraError(Exception):
    pass


class ModelSaveError(OrchestraError):
    pass


class MachineExecutionError(OrchestraError):
    pass


class CreationPolicyError(OrchestraError):
    pass


class WorkflowError(OrchestraError):
    pass

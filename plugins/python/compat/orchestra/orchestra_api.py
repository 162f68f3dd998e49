"""upstream's project client (orchestra.orchestra_api), for workflow code that creates or reads
projects: it calls orchestra-http's legacy JSON API, signed as upstream's client signs
(HTTP signatures, hmac-sha256 over the Date header), with the settings of django.conf:
ORCHESTRA_URL, ORCHESTRA_PROJECT_API_KEY and ORCHESTRA_PROJECT_API_SECRET from the
environment. Standard library only."""

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from email.utils import formatdate

from django.conf import settings


class OrchestraError(Exception):
    pass


def _request(method, endpoint, data=None):
    date = formatdate(usegmt=True)
    key, secret = settings.ORCHESTRA_PROJECT_API_KEY, settings.ORCHESTRA_PROJECT_API_SECRET
    signature = base64.b64encode(hmac.new(secret.encode("utf-8"), ("date: %s" % date).encode(),
                                          hashlib.sha256).digest()).decode()
    headers = {"Date": date, "X-Api-Key": key, "X-Api-Version": "~6.5",
               "Content-Type": "application/json",
               "Authorization": 'Signature keyId="%s",algorithm="hmac-sha256",'
                                'headers="date",signature="%s"' % (key, signature)}
    url = "%s/orchestra/api/project/%s/" % (settings.ORCHESTRA_URL.rstrip("/"), endpoint)
    body = json.dumps(data).encode("utf-8") if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        raise OrchestraError(e.read().decode("utf-8", "replace"))


def get_workflow_types():
    return _request("GET", "workflow_types")["workflows"]


def get_project_details_url(project_id):
    return _request("POST", "project_details_url",
                    {"project_id": project_id})["project_details_url"]


def create_orchestra_project(client, workflow_slug, workflow_version_slug, description, priority,
                             project_data, task_class):
    return _request("POST", "create_project", {
        "workflow_slug": workflow_slug, "workflow_version_slug": workflow_version_slug,
        "description": description, "priority": priority, "project_data": project_data,
        "task_class": task_class})["project_id"]


def get_project_information(project_ids):
    """One id (DOC's client) gives that project's information; a list (HEAD's) the information
    keyed by id."""
    if isinstance(project_ids, (list, tuple)):
        info = _request("POST", "project_information", {"project_ids": list(project_ids)})
        return {int(k): v for k, v in info.items()}
    return _request("POST", "project_information", {"project_id": project_ids})


def assign_worker_to_task(worker_id, task_id):
    return _request("POST", "assign_worker_to_task", {"worker_id": worker_id, "task_id": task_id})


def message_project_team(project_id, message):
    return _request("POST", "message_project_team", {"project_id": project_id, "message": message})

"""django.conf.settings, read from the executor's environment: what upstream's project client
(orchestra.orchestra_api) reads. ORCHESTRA_URL is orchestra-http's address."""

import os


class _Settings:
    def __init__(self):
        self.ORCHESTRA_URL = os.environ.get("ORCHESTRA_URL", "http://127.0.0.1:8000")
        self.ORCHESTRA_PROJECT_API_KEY = os.environ.get("ORCHESTRA_PROJECT_API_KEY", "")
        self.ORCHESTRA_PROJECT_API_SECRET = os.environ.get("ORCHESTRA_PROJECT_API_SECRET", "")
        self.PRODUCTION = False
        self.STAGING = False
        self.GOOGLE_APPS = False
        self.SLACK_EXPERTS = False


settings = _Settings()

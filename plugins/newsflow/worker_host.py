"""The host name Airflow records for a worker (`[core] hostname_callable`): NEWSFLOW_WORKER_HOSTNAME when set,
else the machine's FQDN, so several Celery workers on one machine stay distinguishable in task_instance.hostname.
"""

from __future__ import annotations

import os
import socket

WORKER_HOSTNAME_ENV = "NEWSFLOW_WORKER_HOSTNAME"


def hostname() -> str:
    """Set AIRFLOW__CORE__HOSTNAME_CALLABLE=newsflow.worker_host.hostname to use it.

    Airflow also fetches a running task's log from http://<hostname>:<worker_log_server_port>, so for the UI to
    show live logs the name must resolve to the worker (on one machine: 127.0.0.1 entries in /etc/hosts). In
    containers leave the variable unset: each container's own name is distinct and resolves.
    """
    return os.environ.get(WORKER_HOSTNAME_ENV, "").strip() or socket.getfqdn()

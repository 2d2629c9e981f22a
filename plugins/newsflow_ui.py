"""Registers newsflow's Airflow UI plugin (dashboard and Data Docs inside the Airflow UI).

The plugin lives in the newsflow package; this file only exposes it to Airflow's plugin loader.
"""

from newsflow.ui_plugin import NewsflowUIPlugin

__all__ = ["NewsflowUIPlugin"]

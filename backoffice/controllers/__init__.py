"""The queue's HTTP face: JSON API, citizens' pages, the department inbox, dashboards."""

from backoffice.controllers.api import FormsAPI, SubmissionsAPI
from backoffice.controllers.citizen import MySubmissionsController
from backoffice.controllers.dashboard import DashboardController
from backoffice.controllers.staff import StaffQueueController

route_handlers = [FormsAPI, SubmissionsAPI, MySubmissionsController, StaffQueueController, DashboardController]

__all__ = ["route_handlers", "FormsAPI", "SubmissionsAPI", "MySubmissionsController", "StaffQueueController",
           "DashboardController"]

from accounts.departments import DEPARTMENT_NAMES, Department, department_name
from accounts.models import Role, User
from accounts.principal import Principal

__all__ = ["DEPARTMENT_NAMES", "Department", "Principal", "Role", "User", "department_name"]

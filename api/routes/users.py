"""Users and roles: who am I, the roles of the manual, and user administration (admin)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor
from api.context import identity
from api.inbox_schemas import MeSchema, NewUserResultSchema, NewUserSchema, RoleListSchema, UserListSchema

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="Users, roles and tokens.")


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self) -> dict:
        """The caller: name, role ids, and the manual names of the staff roles (lanes) held."""
        actor = current_actor()
        return {"name": actor.name, "roles": sorted(actor.role_ids), "staff_roles": sorted(actor.staff_roles)}


@blp.route("/roles")
class Roles(MethodView):
    @blp.response(200, RoleListSchema)
    def get(self) -> dict:
        """Every known role: the manual's lanes (staff) and the system roles."""
        return {"items": identity().catalog.roles}


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, UserListSchema)
    def get(self) -> dict:
        """Every user with their roles (admin)."""
        return {"items": identity().list_users()}

    @blp.arguments(NewUserSchema)
    @blp.response(201, NewUserResultSchema)
    def post(self, args: dict) -> dict:
        """Create a user (admin); the answer carries its first bearer token, shown only once."""
        user, token = identity().create_user(args["name"], args["roles"], email=args.get("email"),
                                             display_name=args.get("display_name"), location=args.get("location"))
        return {"user": user, "token": token}

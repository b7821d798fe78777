from django.urls import path, re_path

from scim import views

urlpatterns = [
    path("Users", views.users_view, name="scim_users"),
    # Any text as an id: a non-numeric one is a SCIM 404, not Django's HTML page.
    re_path(r"^Users/(?P<user_id>[^/]+)$", views.user_view, name="scim_user"),
    path("ServiceProviderConfig", views.service_provider_config_view, name="scim_config"),
    path("Schemas", views.schemas_view, name="scim_schemas"),
    re_path(r"^Schemas/(?P<schema_id>[^/]+)$", views.schemas_view, name="scim_schema"),
    path("ResourceTypes", views.resource_types_view, name="scim_resource_types"),
    re_path(r"^ResourceTypes/(?P<type_id>[^/]+)$", views.resource_types_view),
]

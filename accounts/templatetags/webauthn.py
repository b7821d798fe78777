"""`{% webauthn_config mode=... button=... credential=... %}`: what static/js/webauthn.js does
on a page, as a JSON block (json_script), never as inline code the CSP would refuse."""

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def webauthn_config(**config: object) -> SafeString:
    return json_script({k: v for k, v in config.items() if v}, "webauthn-config")

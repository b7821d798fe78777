"""The small forms of the tokens admin: a revocation always records why."""

from django import forms


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        help_text="Recorded with the revocation, e.g. 'leaked in a public repository'.",
        widget=forms.TextInput(attrs={"size": 60}),
    )

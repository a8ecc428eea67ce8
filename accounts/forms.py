"""Admin forms whose secret fields are write-only: typed in, stored encrypted, never shown."""

from django import forms

from .models import AmazonAccount, ShopifyStore

KEEP_HELP = "Type a new value to replace it; leave blank to keep it."
# Below this length the last four characters would give away too much of the secret.
_HINT_MIN_LENGTH = 16


def describe_secret(value: str) -> str:
    """What a page may say about a saved secret: whether it is set and, if long, its tail."""
    if not value:
        return "not set"
    if len(value) < _HINT_MIN_LENGTH:
        return "saved"
    return f"saved (ends …{value[-4:]})"


class SecretFieldsForm(forms.ModelForm):
    """Renders `secret_fields` as empty password inputs; a blank input keeps the saved value."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            field = self.fields.get(name)
            if field is None:
                continue
            field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            field.strip = True
            saved = self.instance.pk and getattr(self.instance, name)
            if saved:
                hint = describe_secret(saved)
                field.help_text = f"{hint[0].upper()}{hint[1:]}. {KEEP_HELP}"
                field.widget.attrs["placeholder"] = "•••••••• (saved)"
            self.initial[name] = ""

    def clean(self):
        cleaned = super().clean()
        for name in self.secret_fields:
            if name in self.fields and not cleaned.get(name) and self.instance.pk:
                # Blank means "keep": restore the saved value before model validation runs.
                saved = type(self.instance).objects.get(pk=self.instance.pk)
                cleaned[name] = getattr(saved, name)
                setattr(self.instance, name, cleaned[name])
        return cleaned


class AmazonAccountForm(SecretFieldsForm):
    secret_fields = ("lwa_client_secret", "refresh_token")

    class Meta:
        model = AmazonAccount
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        for name, label in (
            ("lwa_client_secret", "LWA client secret"),
            ("refresh_token", "refresh token"),
        ):
            if name in self.fields and not cleaned.get(name):
                self.add_error(name, f"Enter the {label} from Seller Central (Develop Apps).")
        region = cleaned.get("region")
        wrong = [m for m in cleaned.get("marketplaces") or [] if m.region != region]
        if region and wrong:
            names = ", ".join(m.country for m in wrong)
            self.add_error("marketplaces", f"Not in this account's region ({region}): {names}.")
        return cleaned


class ShopifyStoreForm(SecretFieldsForm):
    secret_fields = ("access_token", "client_secret", "webhook_secret")

    class Meta:
        model = ShopifyStore
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "default_location" in self.fields:
            self.fields["default_location"].queryset = (
                self.instance.locations.all()
                if self.instance.pk
                else self.fields["default_location"].queryset.none()
            )

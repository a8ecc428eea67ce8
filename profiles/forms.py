from django import forms

from .models import GlobalProfile


class GlobalProfileForm(forms.ModelForm):
    class Meta:
        model = GlobalProfile
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("use_warehouse") and not cleaned.get("locations"):
            self.add_error("locations", "“Use Warehouse” is on: choose at least one location.")
        return cleaned

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from .cart import MAX_QUANTITY


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, initial=1)


class CheckoutForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200, label="Full name")
    address = forms.CharField(max_length=300, label="Delivery address")
    card_number = forms.CharField(
        max_length=23,
        label="Card number",
        help_text="Demo payments: 4242 4242 4242 4242 succeeds, any other card is declined.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-number"}),
    )
    expiry = forms.RegexField(
        regex=r"^(0[1-9]|1[0-2])\s*/\s*\d{2}$",
        label="Expiry (MM/YY)",
        error_messages={"invalid": "Use MM/YY."},
        widget=forms.TextInput(attrs={"placeholder": "MM/YY", "autocomplete": "cc-exp"}),
    )
    cvc = forms.RegexField(
        regex=r"^\d{3,4}$",
        label="CVC",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-csc"}),
    )


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

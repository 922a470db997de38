from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMUserMixin


class User(AbstractSCIMUserMixin, AbstractUser):
    # As in django-scim2's README; the benchmark pushes users only.
    @property
    def scim_groups(self):
        return self.groups


class Token(models.Model):
    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE)

    def __str__(self) -> str:
        return self.digest[:8]

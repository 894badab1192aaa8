from django.apps import AppConfig


class DevdataConfig(AppConfig):
    """Development data: the demo seeder (`seed_demo`) and the scale seeder (`seed_scale`).

    Nothing in the product imports this package; it reads every app to build fake data.
    """

    name = "devdata"
    verbose_name = "Development data"

"""Run the apps' own django-filter FilterSets on API query parameters."""

from api.errors import ApiError


def apply_filters(filterset_class, params, queryset, *, rename: dict | None = None):
    data = {}
    for name, value in params.model_dump(exclude_none=True).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        data[(rename or {}).get(name, name)] = str(getattr(value, "value", value))
    if not data:
        # Nothing to filter by: a FilterSet would only deep-copy its filters and form fields
        # (a quarter of an unfiltered list call) to hand back the queryset it was given.
        return queryset
    filterset = filterset_class(data=data, queryset=queryset)
    if not filterset.is_valid():
        inverse = {v: k for k, v in (rename or {}).items()}
        fields = {inverse.get(k, k): " ".join(v) for k, v in filterset.errors.items()}
        raise ApiError(422, "validation_error", "Some filters are invalid.", fields=fields)
    return filterset.qs

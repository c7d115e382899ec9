"""Access pages: first-time setup, login, logout, users, and the physical-presence password reset."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from webui.access import current_user, login, role_required, users
from webui.users import MIN_LENGTH, ROLE_LABELS, ROLES, UserError

ORDER = 90
bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    name = StringField(_l("Usuario"), validators=[DataRequired(message=_l("Escriba su usuario.")), Length(max=64)])
    password = PasswordField(_l("Contraseña"), validators=[DataRequired(message=_l("Escriba su contraseña.")),
                                                       Length(max=200)])


class NewUserForm(FlaskForm):
    name = StringField(_l("Usuario"), validators=[DataRequired(message=_l("Escriba un nombre de usuario.")), Length(max=32)])
    password = PasswordField(_l("Contraseña"), validators=[DataRequired(message=_l("Escriba una contraseña.")),
                                                       Length(max=200)])
    confirm = PasswordField(_l("Repita la contraseña"),
                            validators=[EqualTo("password", message=_l("Las dos contraseñas no coinciden."))])
    role = SelectField(_l("Rol"), choices=[SelectChoice(r, _l(ROLE_LABELS[r])) for r in ROLES], default="operador")


class PasswordForm(FlaskForm):
    name = StringField(_l("Usuario"), validators=[DataRequired(message=_l("Escriba el usuario.")), Length(max=32)])
    password = PasswordField(_l("Contraseña nueva"), validators=[DataRequired(message=_l("Escriba una contraseña.")),
                                                             Length(max=200)])
    confirm = PasswordField(_l("Repita la contraseña"),
                            validators=[EqualTo("password", message=_l("Las dos contraseñas no coinciden."))])


def _now():
    return current_app.extensions["cobrador"].now()


@bp.route("/configurar", methods=["GET", "POST"])
def setup():
    """The first visit: create the administrator (there is no default password)."""
    if users().any():
        return redirect(url_for("auth.login"))
    form = NewUserForm()
    form.role.data = "administrador"
    if form.validate_on_submit():
        try:
            user = users().create(form.name.data, form.password.data, "administrador", now=_now())
        except UserError as exc:
            form.password.errors.append(str(exc))
        else:
            login(user)
            flash(_("Listo: usted es el administrador. Guarde su contraseña en un lugar seguro."), "ok")
            return redirect(url_for("dashboard.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/setup.html", form=form, min_length=MIN_LENGTH), status


def login_page():
    form = LoginForm()
    throttle = current_app.extensions["cobrador.throttle"]
    status = 200
    if request.method == "POST":
        keys = ("ip:" + (request.remote_addr or "?"), "user:" + (form.name.data or "").strip().lower())
        wait = throttle.wait(*keys)
        if wait > 0:
            flash(_("Demasiados intentos fallidos. Espere %(seconds)d segundos y vuelva a intentarlo.",
                    seconds=int(wait) + 1), "error")
            return render_template("auth/login.html", form=form), 429
        if form.validate_on_submit():
            user = users().verify(form.name.data, form.password.data)
            if user is not None:
                throttle.succeeded(*keys)
                login(user)
                target = request.args.get("next") or ""
                return redirect(target if target.startswith("/") and not target.startswith("//")
                                else url_for("dashboard.index"))
            throttle.failed(*keys)
            flash(_("Usuario o contraseña incorrectos."), "error")
        status = 401 if form.is_submitted() else 400
    return render_template("auth/login.html", form=form), status


bp.add_url_rule("/entrar", "login", login_page, methods=["GET", "POST"])


@bp.post("/salir")
def logout():
    from flask import session

    session.clear()
    flash(_("Sesión cerrada."), "ok")
    return redirect(url_for("auth.login"))


@bp.route("/usuarios", methods=["GET", "POST"])
@role_required("administrador")
def user_list():
    form = NewUserForm()
    status = 200
    if form.validate_on_submit():
        try:
            users().create(form.name.data, form.password.data, form.role.data, now=_now())
        except UserError as exc:
            form.name.errors.append(str(exc))
            status = 400
        else:
            flash(_("Usuario creado."), "ok")
            return redirect(url_for("auth.user_list"))
    elif request.method == "POST":
        status = 400
    return render_template("auth/users.html", form=form, users=users().list(), labels=ROLE_LABELS), status


@bp.post("/usuarios/<name>/borrar")
@role_required("administrador")
def remove_user(name):
    if name == current_user().name:
        flash(_("No puede borrar su propio usuario."), "error")
        return redirect(url_for("auth.user_list")), 400
    try:
        users().remove(name)
    except UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.user_list"))
    flash(_("Usuario borrado."), "ok")
    return redirect(url_for("auth.user_list"))


@bp.route("/restablecer", methods=["GET", "POST"])
def reset():
    """A new password for a user — only while a person at the box allowed it (button or CLI)."""
    services = current_app.extensions["cobrador"]
    if not services.password_reset_allowed():
        return render_template("auth/reset_closed.html"), 403
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users().set_password(form.name.data.strip().lower(), form.password.data)
        except UserError as exc:
            form.password.errors.append(str(exc))
        else:
            flash(_("Contraseña cambiada. Ya puede entrar."), "ok")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 400 if request.method == "POST" else 200

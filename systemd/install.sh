#!/usr/bin/env bash
# Install (or update) Cobrador on Raspberry Pi OS from this source tree, as a systemd service.
#
#   sudo systemd/install.sh              install or update; safe to run again
#   sudo systemd/install.sh --uninstall  stop and remove the service, units, rules and program
#                                         (keeps /var/lib/cobrador and /etc/cobrador: the data and the config)
#
# What it does: creates the system user "cobrador" (groups dialout, gpio), installs the program into a
# virtual environment in /opt/cobrador/venv, writes /etc/cobrador/cobrador.toml if there is none, installs the
# systemd units and the udev rule (ModemManager leaves the modem alone; stable /dev/cobrador-modem) and the
# clock's root one-shots (cobrador-clock-restore.service at boot, cobrador-clock.path + .service for the
# network-time corrections the service asks for), the polkit rule that lets the service switch the box off
# (panel button held 10 s), then enables and starts the service. Messages are in Spanish:
# the person running it is at the cooperative.
set -euo pipefail

PREFIX=/opt/cobrador
UNIT_DIR=/etc/systemd/system
RULES_DIR=/etc/udev/rules.d
POLKIT_DIR=/etc/polkit-1/rules.d
CONFIG_DIR=/etc/cobrador
CLOCK_UNITS="cobrador-clock-restore.service cobrador-clock.path cobrador-clock.service"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE="$(cd "$HERE/.." && pwd)"

say() { printf 'cobrador: %s\n' "$*"; }
die() { printf 'cobrador: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "ejecute este instalador como root: sudo $0"
command -v systemctl >/dev/null || die "este equipo no usa systemd; instale Cobrador a mano (vea README.md)"

uninstall() {
    say "deteniendo y quitando el servicio"
    systemctl disable --now cobrador.service cobrador-clock.path cobrador-clock-restore.service 2>/dev/null || true
    rm -f "$UNIT_DIR/cobrador.service" "$UNIT_DIR/cobrador-usb@.service" "$RULES_DIR/99-cobrador-modem.rules" \
        "$RULES_DIR/99-cobrador-usb.rules" "$POLKIT_DIR/50-cobrador-poweroff.rules"
    for unit in $CLOCK_UNITS; do
        rm -f "$UNIT_DIR/$unit"
    done
    systemctl daemon-reload
    udevadm control --reload-rules 2>/dev/null || true
    rm -rf "$PREFIX"
    say "listo. Los datos (/var/lib/cobrador) y la configuración ($CONFIG_DIR) se conservan."
}

install() {
    command -v python3 >/dev/null || die "falta python3: sudo apt-get install python3 python3-venv"
    python3 -c 'import venv' 2>/dev/null || die "falta python3-venv: sudo apt-get install python3-venv"

    # spoken reminders: espeak-ng (the Spanish voice), sox + libsox-fmt-base (AMR-NB for SIM800 modems)
    local audio_packages=(espeak-ng sox libsox-fmt-base) audio_missing=() p
    for p in "${audio_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || audio_missing+=("$p")
    done
    if [ "${#audio_missing[@]}" -gt 0 ]; then
        say "instalando los paquetes de los mensajes de voz: ${audio_missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${audio_missing[@]}" >/dev/null \
            || say "no se pudieron instalar ${audio_missing[*]}: las llamadas usarán timbre o SMS (vea cobrador doctor)"
    fi

    if ! id cobrador >/dev/null 2>&1; then
        say "creando el usuario del sistema cobrador"
        useradd --system --home-dir /var/lib/cobrador --no-create-home --shell /usr/sbin/nologin cobrador
    fi
    for group in dialout gpio; do
        if getent group "$group" >/dev/null; then
            usermod -a -G "$group" cobrador
        fi
    done

    say "instalando el programa en $PREFIX"
    mkdir -p "$PREFIX"
    rm -rf "$PREFIX/src.new"
    cp -a "$SOURCE" "$PREFIX/src.new"
    rm -rf "$PREFIX/src.new/.venv" "$PREFIX/src.new/var" "$PREFIX/src.new/.git"
    rm -rf "$PREFIX/src"
    mv "$PREFIX/src.new" "$PREFIX/src"
    [ -x "$PREFIX/venv/bin/python" ] || python3 -m venv "$PREFIX/venv"
    "$PREFIX/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$PREFIX/src"

    mkdir -p "$CONFIG_DIR"
    if [ ! -f "$CONFIG_DIR/cobrador.toml" ]; then
        say "escribiendo $CONFIG_DIR/cobrador.toml (revíselo: nombre de la cooperativa, país, PIN de la SIM)"
        install -m 0640 -g cobrador "$HERE/cobrador.example.toml" "$CONFIG_DIR/cobrador.toml"
    fi

    say "instalando el servicio y la regla del módem"
    install -m 0644 "$HERE/cobrador.service" "$UNIT_DIR/cobrador.service"
    install -m 0644 "$HERE/cobrador-usb@.service" "$UNIT_DIR/cobrador-usb@.service"
    for unit in $CLOCK_UNITS; do
        install -m 0644 "$HERE/$unit" "$UNIT_DIR/$unit"
    done
    install -m 0644 "$HERE/99-cobrador-modem.rules" "$RULES_DIR/99-cobrador-modem.rules"
    install -m 0644 "$HERE/99-cobrador-usb.rules" "$RULES_DIR/99-cobrador-usb.rules"
    # the panel's button (held 10 s) and the settings page switch the box off through logind: polkit lets the
    # cobrador user do that one thing (Cobrador itself checks [panel]/[web] allow_poweroff)
    if [ -d /etc/polkit-1 ] || command -v pkaction >/dev/null; then
        mkdir -p "$POLKIT_DIR"
        install -m 0644 "$HERE/50-cobrador-poweroff.rules" "$POLKIT_DIR/50-cobrador-poweroff.rules"
    else
        say "aviso: falta polkit (sudo apt-get install polkitd); sin él el botón no puede apagar el equipo"
    fi
    udevadm control --reload-rules 2>/dev/null || true
    udevadm trigger --subsystem-match=tty 2>/dev/null || true
    systemctl daemon-reload
    systemctl enable cobrador.service cobrador-clock-restore.service >/dev/null
    systemctl enable --now cobrador-clock.path >/dev/null
    systemctl restart cobrador.service
    say "listo: Cobrador está funcionando. Abra http://$(hostname -I 2>/dev/null | awk '{print $1}'):8080/ en un navegador de la oficina."
}

case "${1:-}" in
    --uninstall) uninstall ;;
    "") install ;;
    *) die "opción desconocida «$1»; use sin opciones para instalar o --uninstall para quitar" ;;
esac

# Die Seiten des Pop-ups auf Deutsch. Schlüssel wie in en/popup.ftl.

## Die Auswahl

chooser-title = Konto verbinden
chooser-heading = { $app } möchte eines Ihrer Konten verbinden
chooser-intro = Wählen Sie den Dienst, bei dem Ihr Konto ist.
chooser-cancel = Abbrechen
chooser-search-label = Dienste suchen
chooser-search-button = Suchen
chooser-count = { $shown ->
    [one] { $shown } Dienst
   *[other] { $shown } Dienste
}
chooser-count-matching = { $shown } von { $total } Diensten passen zu „{ $search }“
chooser-count-typed = { $shown } von { $total } Diensten
chooser-empty = Kein Dienst passt zu Ihrer Suche. Versuchen Sie einen anderen Namen oder leeren Sie das Suchfeld.

## Die Gruppen der Auswahl

category-suggested = Vorgeschlagen
category-storage = Cloud-Speicher
category-crm = CRM
category-calendar = Kalender
category-code = Code-Hosting
category-chat = Chat
category-itsm = IT-Service-Management
category-email = E-Mail
category-accounting = Buchhaltung
category-marketing = Marketing
category-database = Datenbanken
category-helpdesk = Helpdesk
category-meeting = Besprechungen
category-project = Projektmanagement
category-documents = Dokumente
category-design = Design

## Jede Seite

footer-help = Hilfe von { $app }
close-button = Dieses Fenster schließen
close-noscript = Sie können dieses Fenster jetzt schließen.
details-summary = Details für die Entwickler der App

## Die Formulare

form-heading = Ihr { $service }-Konto verbinden
form-connect = Verbinden
connect-asks = { $app } möchte Ihr { $service }-Konto verwenden.
connect-asks-admin = { $app } möchte Ihr { $service }-Konto mit Administratorrechten verwenden.
connect-demo-note = (Dies ist der eingebaute Demo-Anbieter: Jeder Kontoname funktioniert.)
connect-account = Kontoname
credentials-asks = { $app } möchte Ihr { $service }-Konto verwenden. Ihre Eingabe wird zur Prüfung an { $service } gesendet und auf diesem Server versiegelt gespeichert.
credentials-asks-traded = { $app } möchte Ihr { $service }-Konto verwenden. Ihre Eingabe wird einmal an { $service } gesendet, im Tausch gegen ein Token, das auf diesem Server versiegelt gespeichert wird: Ihr Passwort wird nicht gespeichert.
credentials-where-basic = Wo finde ich meine Anmeldedaten? (öffnet die Hilfe von { $service })
credentials-where-key = Wo finde ich meinen API-Schlüssel? (öffnet die Hilfe von { $service })
credentials-username = Benutzername
credentials-password = Passwort
credentials-region = Region
credentials-api-key = API-Schlüssel
credentials-reveal = Anzeigen
hostname-asks = { $app } möchte Ihr { $service }-Konto verwenden. Auf welchem Server ist es?
hostname-label = Server
hostname-hint = Die Adresse des { $service }-Servers Ihres Unternehmens, zum Beispiel { $example }.
hostname-continue = Weiter

## Fehler in den Formularen

form-error-hostname = „{ $host }“ ist kein Servername der Form { $pattern }.
form-error-fill = Füllen Sie jedes Feld aus, mit höchstens { $max } Zeichen.
form-error-misconfigured = Dieser Dienst ist nicht richtig eingerichtet.
form-error-refused = { $service } hat diese Zugangsdaten abgelehnt.
form-error-account = „{ $account }“ ist kein Speicherkontoname: 3 bis 24 Kleinbuchstaben und Ziffern.
form-error-account-key = Der Kontoschlüssel ist ungültig: Fügen Sie ihn so ein, wie das Portal ihn anzeigt (Base64).
form-error-server-path = „{ $server }“ ist keine Serveradresse: ein Servername, dann ein Pfad, falls der Dienst darunter liegt, etwa { $example }/remote.php/webdav (kein Benutzername, keine Abfrage, kein Fragment; nur https).

## Die Weiterleitung zur Anmeldeseite eines Dienstes

handoff-heading = Anmeldung bei { $service } …
handoff-continue = Weiter zu { $service }

## Die Ergebnisseite

result-connected = Konto verbunden. Sie können dieses Fenster schließen.
result-cancelled = Sie haben abgebrochen: Es wurde kein Konto verbunden.
result-cancelled-next = Sie können dieses Fenster schließen und später in der App ein Konto verbinden.
result-failed = Das Konto konnte nicht verbunden werden.
result-failed-next = Schließen Sie dieses Fenster und versuchen Sie es in der App erneut. Wenn es wieder passiert, wenden Sie sich an den Support der App und geben Sie ihm die Details unten.
result-unreachable = Dieses Fenster kann das Ergebnis nicht an die App übergeben: Die Seite, die es geöffnet hat, ist nicht erreichbar, und die App hat keine Rückkehrseite (return_urls) registriert.

## Die Fehlerseite

error-refused = Diese Verbindung konnte nicht starten
error-refused-next = Die App, die dieses Fenster geöffnet hat, hat etwas verlangt, das dieser Dienst nicht kann. Schließen Sie dieses Fenster und versuchen Sie es in der App erneut. Wenn es wieder passiert, wenden Sie sich an den Support der App und geben Sie ihm die Details unten.
error-expired = Dieses Fenster ist abgelaufen
error-expired-next = Schließen Sie dieses Fenster und beginnen Sie in der App von vorn.
error-busy = Zu viele Versuche
error-busy-next = Warten Sie eine Minute, schließen Sie dann dieses Fenster und versuchen Sie es in der App erneut.
error-upstream = Der Dienst hat nicht geantwortet
error-upstream-next = Der gewählte Dienst hat nicht rechtzeitig oder mit einem Fehler geantwortet. Schließen Sie dieses Fenster und versuchen Sie es in ein paar Minuten erneut.
error-unavailable = Der Dienst ist ausgelastet
error-unavailable-next = Schließen Sie dieses Fenster und versuchen Sie es in einer Minute erneut.
error-failed = Etwas ist schiefgegangen
error-failed-next = Schließen Sie dieses Fenster und versuchen Sie es erneut. Wenn es wieder passiert, wenden Sie sich an den Support der App.
error-code = Fehlercode { $code }, HTTP-Status { $status }

## Die Fehlerseite: was schiefging, für die Codes der Einrichtungsfehler

setup-invalid_client = Diese App ist auf diesem Server nicht registriert: Ihre client_id fehlt oder ist unbekannt.
setup-untrusted_origin = Die Seite, die dieses Fenster geöffnet hat, liegt auf keiner der Trusted Domains der App.
setup-invalid_return_to = Die Rückkehrseite, die die App angegeben hat, ist keine ihrer registrierten Rückkehrseiten.
setup-sign_in_token_required = Diese App verlangt für jede Verbindung ein Anmelde-Token, und es wurde keines angegeben.
setup-invalid_scope = Die Dienste, die die App verlangt hat, werden auf diesem Server nicht angeboten.
setup-unsupported_response_type = Die App hat eine Art der Anmeldung verlangt, die dieser Server nicht anbietet.

## The organisation-wide form (an admin authorizes the app for the whole organisation)

org-heading = { $service } Ihrer Organisation verbinden
org-asks = { $app } möchte auf die { $service }-Konten der Nutzer Ihrer Organisation zugreifen. Ein Administrator der Organisation erlaubt das einmal:
org-client-id = Client-ID:
org-scopes = OAuth-Bereiche: { $scopes }, dann „Autorisieren“.
org-give = Geben Sie unten die Domain Ihrer Organisation und Ihre Administratoradresse ein und klicken Sie dann auf „Prüfen“.
org-docs = So funktioniert dieser Zugriff (öffnet die Dokumentation von { $service })
org-domain = Domain
org-admin = Administratoradresse
org-check = Prüfen
org-consent-steps = Microsoft bittet Sie, sich als Administrator Ihrer Organisation anzumelden, und zeigt dann die angeforderten Berechtigungen für Ihre Organisation: Prüfen Sie sie und wählen Sie Akzeptieren.
org-tenant = Domain oder Mandanten-ID Ihrer Organisation
org-give-tenant = Geben Sie unten die Domain oder Mandanten-ID Ihrer Organisation ein und klicken Sie auf Weiter: Sie melden sich dann als Administrator an und erteilen den Zugriff für die ganze Organisation.
org-continue = Weiter
org-error-tenant = Geben Sie die Domain Ihrer Organisation (etwa contoso.onmicrosoft.com) oder ihre Mandanten-ID an.
org-enterprise = Enterprise-ID
org-give-enterprise = Geben Sie unten die ID Ihres Unternehmens ein (Admin Console → Konto und Abrechnung: Enterprise-ID) und drücken Sie dann Prüfen.
org-error-enterprise = Geben Sie die ID Ihres Unternehmens ein: nur Ziffern, wie die Admin Console sie unter Konto und Abrechnung zeigt.

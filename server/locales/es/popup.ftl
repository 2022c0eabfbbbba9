# Las páginas de la ventana en español. Las mismas claves que en/popup.ftl.

## La elección del servicio

chooser-title = Conectar una cuenta
chooser-heading = { $app } quiere conectar una de tus cuentas
chooser-intro = Elige el servicio en el que está tu cuenta.
chooser-cancel = Cancelar
chooser-search-label = Buscar servicios
chooser-search-button = Buscar
chooser-count = { $shown ->
    [one] { $shown } servicio
   *[other] { $shown } servicios
}
chooser-count-matching = { $shown } de { $total } servicios coinciden con «{ $search }»
chooser-count-typed = { $shown } de { $total } servicios
chooser-empty = Ningún servicio coincide con tu búsqueda. Prueba con otro nombre o vacía el cuadro de búsqueda.

## Los grupos

category-suggested = Sugeridos
category-storage = Almacenamiento en la nube
category-crm = CRM
category-calendar = Calendarios
category-code = Alojamiento de código
category-chat = Chat
category-itsm = Gestión de servicios de TI
category-email = Correo electrónico
category-accounting = Contabilidad
category-marketing = Marketing
category-database = Bases de datos
category-helpdesk = Soporte al cliente
category-meeting = Reuniones
category-project = Gestión de proyectos
category-documents = Documentos
category-design = Diseño

## Todas las páginas

footer-help = Ayuda de { $app }
close-button = Cerrar esta ventana
close-noscript = Ya puedes cerrar esta ventana.
details-summary = Detalles para los desarrolladores de la aplicación

## Los formularios

form-heading = Conecta tu cuenta de { $service }
form-connect = Conectar
connect-asks = { $app } solicita usar tu cuenta de { $service }.
connect-asks-admin = { $app } solicita usar tu cuenta de { $service } con acceso de administrador.
connect-demo-note = (Este es el proveedor de demostración integrado: cualquier nombre de cuenta sirve.)
connect-account = Nombre de la cuenta
credentials-asks = { $app } solicita usar tu cuenta de { $service }. Lo que escribas se envía a { $service } para comprobarlo y se guarda cifrado en este servidor.
credentials-asks-traded = { $app } solicita usar tu cuenta de { $service }. Lo que escribas se envía una sola vez a { $service }, a cambio de un token que se guarda cifrado en este servidor: tu contraseña no se guarda.
credentials-where-basic = Dónde encontrar tus datos de acceso (abre la ayuda de { $service })
credentials-where-key = Dónde encontrar tu clave de API (abre la ayuda de { $service })
credentials-username = Nombre de usuario
credentials-password = Contraseña
credentials-region = Región
credentials-api-key = Clave de API
credentials-reveal = Mostrar
hostname-asks = { $app } solicita usar tu cuenta de { $service }. ¿En qué servidor está?
hostname-label = Servidor
hostname-hint = La dirección del servidor de { $service } de tu empresa, por ejemplo { $example }.
hostname-continue = Continuar

## Los errores de los formularios

form-error-hostname = «{ $host }» no es un nombre de servidor de la forma { $pattern }.
form-error-fill = Rellena todos los campos, con { $max } caracteres como máximo cada uno.
form-error-misconfigured = Este servicio no está bien configurado.
form-error-refused = { $service } rechazó estas credenciales.
form-error-account = «{ $account }» no es un nombre de cuenta de almacenamiento: de 3 a 24 letras minúsculas y dígitos.
form-error-account-key = La clave de la cuenta no es válida: péguela tal como la muestra el portal (base64).
form-error-server-path = «{ $server }» no es una dirección de servidor: un nombre de servidor y, si el servicio está bajo una ruta, la ruta, por ejemplo { $example }/remote.php/webdav (sin nombre de usuario, consulta ni fragmento; solo https).

## El paso a la página de inicio de sesión de un servicio

handoff-heading = Iniciando sesión con { $service }…
handoff-continue = Continuar a { $service }

## La página de resultado

result-connected = Cuenta conectada. Ya puedes cerrar esta ventana.
result-cancelled = Has cancelado: no se ha conectado ninguna cuenta.
result-cancelled-next = Puedes cerrar esta ventana y conectar una cuenta más tarde desde la aplicación.
result-failed = No se ha podido conectar la cuenta.
result-failed-next = Cierra esta ventana y vuelve a intentarlo desde la aplicación. Si vuelve a ocurrir, avisa al equipo de soporte de la aplicación y dale los detalles de abajo.
result-unreachable = Esta ventana no puede entregar el resultado a la aplicación: la página que la abrió no está a su alcance y la aplicación no ha registrado ninguna página de retorno (return_urls).

## La página de error

error-refused = No se ha podido iniciar esta conexión
error-refused-next = La aplicación que abrió esta ventana ha pedido algo que este servicio no puede hacer. Cierra esta ventana y vuelve a intentarlo desde la aplicación. Si vuelve a ocurrir, avisa al equipo de soporte de la aplicación y dale los detalles de abajo.
error-expired = Esta ventana ha caducado
error-expired-next = Cierra esta ventana y empieza de nuevo desde la aplicación.
error-busy = Demasiados intentos
error-busy-next = Espera un minuto, cierra esta ventana y vuelve a intentarlo desde la aplicación.
error-upstream = El servicio no ha respondido
error-upstream-next = El servicio que elegiste no respondió a tiempo o respondió con un error. Cierra esta ventana y vuelve a intentarlo dentro de unos minutos.
error-unavailable = El servicio está ocupado
error-unavailable-next = Cierra esta ventana y vuelve a intentarlo dentro de un minuto.
error-failed = Algo ha salido mal
error-failed-next = Cierra esta ventana y vuelve a intentarlo. Si vuelve a ocurrir, avisa al equipo de soporte de la aplicación.
error-code = Código de error { $code }, estado HTTP { $status }

## La página de error: qué ha fallado, para los códigos de los errores de configuración

setup-invalid_client = Esta aplicación no está registrada en este servidor: su client_id falta o es desconocido.
setup-untrusted_origin = La página que abrió esta ventana no está en ninguno de los Trusted Domains de la aplicación.
setup-invalid_return_to = La página de retorno que dio la aplicación no es una de sus páginas de retorno registradas.
setup-sign_in_token_required = Esta aplicación exige un token de inicio de sesión para cada conexión y no se ha dado ninguno.
setup-invalid_scope = Los servicios que pidió la aplicación no se ofrecen en este servidor.
setup-unsupported_response_type = La aplicación pidió un tipo de inicio de sesión que este servidor no ofrece.

## The organisation-wide form (an admin authorizes the app for the whole organisation)

org-heading = Conectar { $service } de su organización
org-asks = { $app } solicita acceso a las cuentas de { $service } de los usuarios de su organización. Un administrador de la organización lo autoriza una vez:
org-client-id = ID de cliente:
org-scopes = Ámbitos de OAuth: { $scopes }, y luego Autorizar.
org-give = Indique abajo el dominio de su organización y su dirección de administrador, y pulse Comprobar.
org-docs = Cómo funciona este acceso (abre la documentación de { $service })
org-domain = Dominio
org-admin = Dirección de administrador
org-check = Comprobar
org-consent-steps = Microsoft le pide que inicie sesión como administrador de su organización y luego muestra los permisos solicitados para su organización: revíselos y seleccione Aceptar.
org-tenant = Dominio o ID de inquilino de su organización
org-give-tenant = Indique abajo el dominio o el ID de inquilino de su organización y pulse Continuar: después inicia sesión como administrador y concede el acceso para toda la organización.
org-continue = Continuar
org-error-tenant = Indique el dominio de su organización (como contoso.onmicrosoft.com) o su ID de inquilino.
org-enterprise = ID de empresa
org-give-enterprise = Indique abajo el ID de su empresa (Admin Console → Cuenta y facturación: ID de empresa) y pulse Comprobar.
org-error-enterprise = Indique el ID de su empresa: solo dígitos, tal como lo muestra la Admin Console en Cuenta y facturación.

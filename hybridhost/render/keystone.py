"""keystoneauth's password plugin options, as every section that calls an OpenStack API
takes them (nova's [neutron]/[placement]/[glance], keystonemiddleware, neutron's [nova])."""


def password_auth(auth_url, username, password, project_name, region_name,
                  user_domain_name="Default", project_domain_name="Default"):
    return [
        ("auth_type", "password"),
        ("auth_url", auth_url),
        ("username", username),
        ("password", password),
        ("project_name", project_name),
        ("user_domain_name", user_domain_name),
        ("project_domain_name", project_domain_name),
        ("region_name", region_name),
    ]

package vn.gov.tinh.dichvu;

import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.security.oauth2.core.oidc.user.OidcUser;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

@SpringBootApplication
@RestController
public class ProfileController {

    /** The signed-in person: name from userinfo, and the level of assurance the provider reached. */
    @GetMapping("/ho-so")
    Map<String, Object> profile(@AuthenticationPrincipal OidcUser person) {
        String acr = person.getIdToken().getClaimAsString("acr");  // e.g. https://xacthuc.tinh.gov.vn/acr/vneid-l2
        return Map.of("sub", person.getSubject(), "name", person.getFullName(), "acr", acr);
    }

    public static void main(String[] args) {
        SpringApplication.run(ProfileController.class, args);
    }
}

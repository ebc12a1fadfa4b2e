//! Reading secrets from Secrets Manager (moto): what every Lambda does during init when its
//! template gives it `{NAME}_ARN`.

use mas_secretsmanager::{SecretRef, read_all};

use crate::support::aws;

#[tokio::test]
async fn secrets_are_read_all_at_once_and_a_missing_one_stops_the_start() {
    let Some(config) = aws::moto("Secrets Manager").await else { return };
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let mut wanted = Vec::new();
    for (name, value) in [("STRIPE_SECRET_KEY", "sk_test_contract"), ("MAS_LINK_SECRET", "link-secret-contract")] {
        let arn = client
            .create_secret()
            .name(format!("mas-contract-{suffix}/{name}"))
            .secret_string(value)
            .send()
            .await
            .expect("a secret on moto")
            .arn
            .expect("an ARN");
        wanted.push(SecretRef { name, arn });
    }
    let mut read = read_all(&client, &wanted).await.expect("read");
    read.sort();
    assert_eq!(
        read,
        [("MAS_LINK_SECRET", "link-secret-contract".to_owned()), ("STRIPE_SECRET_KEY", "sk_test_contract".to_owned())]
    );

    wanted.push(SecretRef { name: "TWILIO_AUTH_TOKEN", arn: format!("mas-contract-{suffix}/missing") });
    let err = read_all(&client, &wanted).await.expect_err("a missing secret fails the load");
    assert!(err.to_string().contains("TWILIO_AUTH_TOKEN"), "{err}");
}
